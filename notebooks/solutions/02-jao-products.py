# Solution of "What did JAO receive?" (02-pipeline): the data products of Xb0 in the
# JAO cache, found by the products tree's layout <progID>_<time>/SOUS/GOUS/<ous>/products.
jao_products = sorted(sb.caches["JAO"].glob("*/SOUS/GOUS/uid___X1_X1_Xb0/products/*.data"))
len(jao_products)
