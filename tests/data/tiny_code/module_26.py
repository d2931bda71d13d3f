"""Module 26: a counter and a helper that uses it."""
import os


class Counter26:
    def __init__(self, start=26):
        self.value = start  # where counting starts

    def step(self, by=1):
        self.value += by
        return self.value


def helper_26(path):
    counter = Counter26()
    for name in os.listdir(path):
        if name.endswith(".py"):
            counter.step()
    return counter.value
