"""Module 29: a counter and a helper that uses it."""
import os


class Counter29:
    def __init__(self, start=29):
        self.value = start  # where counting starts

    def step(self, by=1):
        self.value += by
        return self.value


def helper_29(path):
    counter = Counter29()
    for name in os.listdir(path):
        if name.endswith(".py"):
            counter.step()
    return counter.value
