"""Module 35: a counter and a helper that uses it."""
import os


class Counter35:
    def __init__(self, start=35):
        self.value = start  # where counting starts

    def step(self, by=1):
        self.value += by
        return self.value


def helper_35(path):
    counter = Counter35()
    for name in os.listdir(path):
        if name.endswith(".py"):
            counter.step()
    return counter.value
