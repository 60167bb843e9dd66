# Solution of "A redelivered request is a duplicate" (06-your-actor): before doing the work,
# look in the OUS's history for this request's id; a request not done yet is done, redelivered or not.
import logging

from drwlab.actors import body_dict
from drwlab.errors import NotFound
from drwlab.uids import uid_to_doc_id


class CarefulQueue(ShortestQueue):
    """ShortestQueue, where a request delivered again finds its work done: a duplicate."""

    def handle(self, message):  # this request done already? then nothing more to do
        uid = body_dict(message["body"], "dra.assign").get("ousUID")
        reason = f"assigned by request {message['_id']}"
        try:
            history = self.store.get("status-entities", uid_to_doc_id(uid))["history"]
        except NotFound:  # a new OUS: nothing was done for it yet
            history = []
        if any(entry.get("reason") == reason for entry in history):
            logging.getLogger("dra").info("%s: request %s is a duplicate", uid, message["_id"])
            return
        super().handle(message)


sb.replace_actor("shortest-queue", CarefulQueue(sb.bus, sb.store))
print("shortest-queue is now a", type(sb.actors["shortest-queue"]).__name__)
