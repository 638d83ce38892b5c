# the software setup of the seed talk's example: one exported variable
export MY_VARIABLE=foo
