"""Module 28: a counter and a helper that uses it."""
import os


class Counter28:
    def __init__(self, start=28):
        self.value = start  # where counting starts

    def step(self, by=1):
        self.value += by
        return self.value


def helper_28(path):
    counter = Counter28()
    for name in os.listdir(path):
        if name.endswith(".py"):
            counter.step()
    return counter.value
