"""Module 31: a counter and a helper that uses it."""
import os


class Counter31:
    def __init__(self, start=31):
        self.value = start  # where counting starts

    def step(self, by=1):
        self.value += by
        return self.value


def helper_31(path):
    counter = Counter31()
    for name in os.listdir(path):
        if name.endswith(".py"):
            counter.step()
    return counter.value
