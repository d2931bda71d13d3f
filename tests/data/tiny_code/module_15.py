"""Module 15: a counter and a helper that uses it."""
import os


class Counter15:
    def __init__(self, start=15):
        self.value = start  # where counting starts

    def step(self, by=1):
        self.value += by
        return self.value


def helper_15(path):
    counter = Counter15()
    for name in os.listdir(path):
        if name.endswith(".py"):
            counter.step()
    return counter.value
