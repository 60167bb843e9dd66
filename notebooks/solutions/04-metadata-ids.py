# Solution of "Metadata versus delivery status" (04-delivery): the productID of each
# products-metadata record of Xb0.
records = sb.store.find("products-metadata", {"ousUID": "uid://X1/X1/Xb0"})
metadata_ids = {record["productID"] for record in records}
metadata_ids
