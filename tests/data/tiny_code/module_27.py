"""Module 27: a counter and a helper that uses it."""
import os


class Counter27:
    def __init__(self, start=27):
        self.value = start  # where counting starts

    def step(self, by=1):
        self.value += by
        return self.value


def helper_27(path):
    counter = Counter27()
    for name in os.listdir(path):
        if name.endswith(".py"):
            counter.step()
    return counter.value
