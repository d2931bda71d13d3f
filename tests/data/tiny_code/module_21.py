"""Module 21: a counter and a helper that uses it."""
import os


class Counter21:
    def __init__(self, start=21):
        self.value = start  # where counting starts

    def step(self, by=1):
        self.value += by
        return self.value


def helper_21(path):
    counter = Counter21()
    for name in os.listdir(path):
        if name.endswith(".py"):
            counter.step()
    return counter.value
