"""Module 18: a counter and a helper that uses it."""
import os


class Counter18:
    def __init__(self, start=18):
        self.value = start  # where counting starts

    def step(self, by=1):
        self.value += by
        return self.value


def helper_18(path):
    counter = Counter18()
    for name in os.listdir(path):
        if name.endswith(".py"):
            counter.step()
    return counter.value
