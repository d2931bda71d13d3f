"""Module 33: a counter and a helper that uses it."""
import os


class Counter33:
    def __init__(self, start=33):
        self.value = start  # where counting starts

    def step(self, by=1):
        self.value += by
        return self.value


def helper_33(path):
    counter = Counter33()
    for name in os.listdir(path):
        if name.endswith(".py"):
            counter.step()
    return counter.value
