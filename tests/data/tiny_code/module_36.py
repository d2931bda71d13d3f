"""Module 36: a counter and a helper that uses it."""
import os


class Counter36:
    def __init__(self, start=36):
        self.value = start  # where counting starts

    def step(self, by=1):
        self.value += by
        return self.value


def helper_36(path):
    counter = Counter36()
    for name in os.listdir(path):
        if name.endswith(".py"):
            counter.step()
    return counter.value
