"""Module 39: a counter and a helper that uses it."""
import os


class Counter39:
    def __init__(self, start=39):
        self.value = start  # where counting starts

    def step(self, by=1):
        self.value += by
        return self.value


def helper_39(path):
    counter = Counter39()
    for name in os.listdir(path):
        if name.endswith(".py"):
            counter.step()
    return counter.value
