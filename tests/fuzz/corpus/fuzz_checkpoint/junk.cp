# c

zz
0114
