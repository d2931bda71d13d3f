"""Module 17: a counter and a helper that uses it."""
import os


class Counter17:
    def __init__(self, start=17):
        self.value = start  # where counting starts

    def step(self, by=1):
        self.value += by
        return self.value


def helper_17(path):
    counter = Counter17()
    for name in os.listdir(path):
        if name.endswith(".py"):
            counter.step()
    return counter.value
