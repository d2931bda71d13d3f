"""Module 22: a counter and a helper that uses it."""
import os


class Counter22:
    def __init__(self, start=22):
        self.value = start  # where counting starts

    def step(self, by=1):
        self.value += by
        return self.value


def helper_22(path):
    counter = Counter22()
    for name in os.listdir(path):
        if name.endswith(".py"):
            counter.step()
    return counter.value
