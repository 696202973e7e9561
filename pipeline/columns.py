"""The names of metadata columns the builder understands: read by pipeline.catalog
(xeno-canto's names first, the first present one wins), written by pipeline.fetch. Beam-free, so
the fetcher starts without importing Apache Beam."""

# xeno-canto's API names of the fields the builder reads.
XC_ID, XC_GENUS, XC_EPITHET, XC_SPECIES = "id", "gen", "sp", "en"
XC_TYPE, XC_QUALITY, XC_LICENSE = "type", "q", "lic"
XC_RECORDIST, XC_URL, XC_FILE_NAME = "rec", "url", "file-name"
XENO_CANTO_COLUMNS = (XC_ID, XC_GENUS, XC_EPITHET, XC_SPECIES, XC_TYPE, XC_QUALITY, XC_LICENSE,
                      XC_RECORDIST, XC_URL, XC_FILE_NAME)  # fmt: skip

FILE_COLUMNS = (XC_FILE_NAME, "file_name", "filename", "file", "path")
SPECIES_COLUMNS = ("species", XC_SPECIES)  # else XC_GENUS and XC_EPITHET
ID_COLUMNS = (XC_ID, "recording_id")
TYPE_COLUMNS = (XC_TYPE, "sound_type")
QUALITY_COLUMNS = (XC_QUALITY, "quality")
LICENSE_COLUMNS = (XC_LICENSE, "license")
RECORDIST_COLUMNS = (XC_RECORDIST, "recordist")
URL_COLUMNS = (XC_URL,)
SITE_COLUMNS = ("loc", "site")
DATE_COLUMNS = ("date",)

# ATTRIBUTION.csv, of a dataset (pipeline.build) and of a fetched corpus (pipeline.fetch).
ATTRIBUTION_COLUMNS = ("recording_id", "species", "recordist", "license", "url", "source_file")
