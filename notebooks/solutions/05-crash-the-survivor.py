# Solution of "Crash the surviving driver yourself" (05-faults): a fresh driver to take
# over, then a crash of whichever driver holds Xc1 while it is Processing.
fresh = sb.add_pipeline_driver()
sb.launch(PROJECT, "uid://X1/X1/Xc1")
sb.wait_for("uid://X1/X1/Xc1", "Processing", timeout=60)
my_crash = sb.crash(sb.holder("uid://X1/X1/Xc1"))
print(my_crash.actor, "crashed holding", len(my_crash.held), "message(s)")
sb.wait_for("uid://X1/X1/Xc1", "ReadyForReview", timeout=90)
