// The built-in tools gpt-oss was trained with (OpenAI's reference `browser`
// and `python`), as tool namespaces for the system message.
#pragma once

#include "harmony/tool_namespace.h"

namespace quarry::harmony {

// `browser`: search / open / find, with the citation instructions.
const ToolNamespace& browser_tool_namespace();
// `python`: a stateful Jupyter notebook; description only, no functions.
const ToolNamespace& python_tool_namespace();

}  // namespace quarry::harmony
