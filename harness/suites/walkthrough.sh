# The sample VMM flow of tools/ioasid/ioasid-walkthrough.c ('make run').
RUN="ioasid-walkthrough"
SHOW=all
