"""Module 30: a counter and a helper that uses it."""
import os


class Counter30:
    def __init__(self, start=30):
        self.value = start  # where counting starts

    def step(self, by=1):
        self.value += by
        return self.value


def helper_30(path):
    counter = Counter30()
    for name in os.listdir(path):
        if name.endswith(".py"):
            counter.step()
    return counter.value
