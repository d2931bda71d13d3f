"""Module 32: a counter and a helper that uses it."""
import os


class Counter32:
    def __init__(self, start=32):
        self.value = start  # where counting starts

    def step(self, by=1):
        self.value += by
        return self.value


def helper_32(path):
    counter = Counter32()
    for name in os.listdir(path):
        if name.endswith(".py"):
            counter.step()
    return counter.value
