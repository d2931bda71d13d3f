"""Module 13: a counter and a helper that uses it."""
import os


class Counter13:
    def __init__(self, start=13):
        self.value = start  # where counting starts

    def step(self, by=1):
        self.value += by
        return self.value


def helper_13(path):
    counter = Counter13()
    for name in os.listdir(path):
        if name.endswith(".py"):
            counter.step()
    return counter.value
