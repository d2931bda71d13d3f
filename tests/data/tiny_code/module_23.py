"""Module 23: a counter and a helper that uses it."""
import os


class Counter23:
    def __init__(self, start=23):
        self.value = start  # where counting starts

    def step(self, by=1):
        self.value += by
        return self.value


def helper_23(path):
    counter = Counter23()
    for name in os.listdir(path):
        if name.endswith(".py"):
            counter.step()
    return counter.value
