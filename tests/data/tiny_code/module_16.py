"""Module 16: a counter and a helper that uses it."""
import os


class Counter16:
    def __init__(self, start=16):
        self.value = start  # where counting starts

    def step(self, by=1):
        self.value += by
        return self.value


def helper_16(path):
    counter = Counter16()
    for name in os.listdir(path):
        if name.endswith(".py"):
            counter.step()
    return counter.value
