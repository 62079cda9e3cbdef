"""Commerce: promo clips for a product catalogue — catalogue import, brand kit, templates as
data, batches across aspects. A driver above the job services (like the simulator): every
clip is an ordinary job, moderated, priced, labelled and signed like any other."""
