# Nothing medical is ever registered in the agents' admin (see issue 9).
