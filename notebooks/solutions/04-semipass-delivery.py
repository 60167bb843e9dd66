# Solution of "Deliver a semi-passed OUS" (04-delivery): launch Xb1, wait until its
# weblog (and report) reached JAO, review it, SemiPass, and wait for Delivered.
SECOND = "uid://X1/X1/Xb1"
sb.launch("2015.1.00657.S", SECOND)
sb.wait_for(SECOND, "ReadyForReview", timeout=90)
nb.wait_for_weblog(sb, SECOND)
sb.qa2.review(SECOND)
sb.qa2.decide(SECOND, "SemiPass")
sb.wait_for(SECOND, "Delivered", timeout=90)["state"]
