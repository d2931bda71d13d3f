"""Module 19: a counter and a helper that uses it."""
import os


class Counter19:
    def __init__(self, start=19):
        self.value = start  # where counting starts

    def step(self, by=1):
        self.value += by
        return self.value


def helper_19(path):
    counter = Counter19()
    for name in os.listdir(path):
        if name.endswith(".py"):
            counter.step()
    return counter.value
