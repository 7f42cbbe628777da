// Boost.JSON compiled into the fuzz targets, so that its parser and serializer
// are instrumented too (the fuzz build links no libboost_json).
#include <boost/json/src.hpp>
