"""Module 20: a counter and a helper that uses it."""
import os


class Counter20:
    def __init__(self, start=20):
        self.value = start  # where counting starts

    def step(self, by=1):
        self.value += by
        return self.value


def helper_20(path):
    counter = Counter20()
    for name in os.listdir(path):
        if name.endswith(".py"):
            counter.step()
    return counter.value
