"""Module 14: a counter and a helper that uses it."""
import os


class Counter14:
    def __init__(self, start=14):
        self.value = start  # where counting starts

    def step(self, by=1):
        self.value += by
        return self.value


def helper_14(path):
    counter = Counter14()
    for name in os.listdir(path):
        if name.endswith(".py"):
            counter.step()
    return counter.value
