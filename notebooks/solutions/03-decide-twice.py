# Solution of "Decide twice" (03-qa2): AQUA refuses a second decision with a ReviewError.
# Python deletes the name after "as" when the except block ends, so keep the error.
from drwlab.errors import ReviewError

try:
    sb.qa2.decide("uid://X1/X1/Xb1", "Pass")
except ReviewError as error:
    answer = error
print(answer)
