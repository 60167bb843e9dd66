# Solution of "Fix the cause, re-queue the dead letter" (05-faults): a size may carry a
# unit ("2 kB"); the listener calls ingest by name, so defining it again fixes it.
UNITS = {"": 1, "kB": 1024, "MB": 1024**2}

def ingest(body):
    number, _, unit = str(body["size"]).partition(" ")
    ingested.append((body["file"], int(number) * UNITS[unit]))

for letter in sb.store.find("msgq", {"selector": "ingest.files", "state": "dead"}):
    requeue(sb.bus, letter["_id"])
