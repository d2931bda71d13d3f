"""Module 37: a counter and a helper that uses it."""
import os


class Counter37:
    def __init__(self, start=37):
        self.value = start  # where counting starts

    def step(self, by=1):
        self.value += by
        return self.value


def helper_37(path):
    counter = Counter37()
    for name in os.listdir(path):
        if name.endswith(".py"):
            counter.step()
    return counter.value
