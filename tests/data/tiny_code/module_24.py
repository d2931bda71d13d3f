"""Module 24: a counter and a helper that uses it."""
import os


class Counter24:
    def __init__(self, start=24):
        self.value = start  # where counting starts

    def step(self, by=1):
        self.value += by
        return self.value


def helper_24(path):
    counter = Counter24()
    for name in os.listdir(path):
        if name.endswith(".py"):
            counter.step()
    return counter.value
