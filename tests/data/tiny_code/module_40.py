"""Module 40: a counter and a helper that uses it."""
import os


class Counter40:
    def __init__(self, start=40):
        self.value = start  # where counting starts

    def step(self, by=1):
        self.value += by
        return self.value


def helper_40(path):
    counter = Counter40()
    for name in os.listdir(path):
        if name.endswith(".py"):
            counter.step()
    return counter.value
