# Solution of "Three competing listeners" (01-bus): three listeners on a selector of
# their own, then 30 messages; the bus gives each message to exactly one of them.
handled_by = {}

def record_as(worker):
    return lambda body: handled_by.setdefault(body["n"], worker)

for worker in ("worker-A", "worker-B", "worker-C"):
    bus.listen("exercise.work", record_as(worker), name=worker)
for n in range(100, 130):
    bus.send("exercise.work", {"n": n})
