# Solution of "A handler that fails once" (01-bus): the handler raises on the first
# message it sees and succeeds after that; the bus retries the message once.
seen = []

def flaky(body):
    seen.append(body)
    if len(seen) == 1:
        raise RuntimeError("the first time fails")

flaky_listener = bus.listen("exercise.flaky", flaky, name="flaky")
bus.send("exercise.flaky", {"x": 1})
