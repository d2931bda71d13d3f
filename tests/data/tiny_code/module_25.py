"""Module 25: a counter and a helper that uses it."""
import os


class Counter25:
    def __init__(self, start=25):
        self.value = start  # where counting starts

    def step(self, by=1):
        self.value += by
        return self.value


def helper_25(path):
    counter = Counter25()
    for name in os.listdir(path):
        if name.endswith(".py"):
            counter.step()
    return counter.value
