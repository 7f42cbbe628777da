// The framer is a template over its sink; this unit checks the header stands alone.
#include "corochat/protocol/framer.hpp"
