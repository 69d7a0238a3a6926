// Anchor translation unit of the harmony library.
namespace quarry::harmony {}
