"""Open311 GeoReport v2 (开放诉求接口): what a request submitted through it keeps beside its case."""
