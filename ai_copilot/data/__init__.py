"""GL-mapping evaluation data (charts, gold alignments, tenant variants) and the scripts that make and read it."""
