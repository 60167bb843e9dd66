# Solution of "Cancel a review, then fail it" (03-qa2), with the API; the panel's
# buttons call the same methods.
sb.qa2.review("uid://X1/X1/Xb2")
sb.qa2.decide("uid://X1/X1/Xb2", "Cancel")
sb.qa2.review("uid://X1/X1/Xb2")
sb.qa2.decide("uid://X1/X1/Xb2", "Fail")["state"]
