# Solution of "A pipeline that always fails" (02-pipeline): launch Xc0 on the NA driver
# (added above by exercises.add_failing_driver), wait for its ProcessingProblem, relaunch.
from drwlab.actors import Launcher

launcher = Launcher(sb.bus, sb.store)
for attempt in range(2):
    launcher.launch("2015.1.00657.S", "uid://X1/X1/Xc0", executive="NA")
    sb.wait_for("uid://X1/X1/Xc0", "ProcessingProblem", timeout=90)
[change["state"] for change in sb.entity("uid://X1/X1/Xc0")["history"]]
