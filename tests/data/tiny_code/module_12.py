"""Module 12: a counter and a helper that uses it."""
import os


class Counter12:
    def __init__(self, start=12):
        self.value = start  # where counting starts

    def step(self, by=1):
        self.value += by
        return self.value


def helper_12(path):
    counter = Counter12()
    for name in os.listdir(path):
        if name.endswith(".py"):
            counter.step()
    return counter.value
