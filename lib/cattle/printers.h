// Table printers: Kubernetes' columns for each kind, as `kubectl get` shows them. One
// implementation serves the `cattle` CLI and the apiserver's server-side Table output.
//
// Columns, cell values and cell JSON types follow k8s.io/kubernetes
// pkg/printers/internalversion/printers.go (the server-side printers kubectl 1.32 relies
// on): e.g. the pod Restarts cell is a string ("0", "3 (65s ago)"), Deployment's
// Up-to-date/Available are declared "string" but carry integers, Age columns are "string"
// cells made by HumanDuration. Kinds without a printer get Name and Age (type "date", as
// the apiserver's CRD table convertor declares it).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "cattle/codec.h"
#include "cattle/object.h"

namespace cattle {

struct TableColumn {
  std::string name;         // "Name", "Ready", "Status", ... (kubectl upper-cases them)
  std::string type;         // "string", "integer", "date" (as Kubernetes declares them)
  std::string format;       // "name" for the Name column, else ""
  std::string description;
  int priority = 0;         // 1: only with -o wide
};

struct TableRow {
  std::vector<Json> cells;  // one per column: JSON strings or integers
};

struct Table {
  std::vector<TableColumn> columns;
  std::vector<TableRow> rows;
};

// The columns of `kind` (generic Name/Age for kinds without their own printer).
std::vector<TableColumn> TableColumns(const KindInfo& kind);
// One row per object, cells matching TableColumns(kind). `now_wall_nanos` computes ages.
TableRow TableRowFor(const Object& obj, int64_t now_wall_nanos);
Table MakeTable(const KindInfo& kind, const std::vector<const Object*>& objects,
                int64_t now_wall_nanos);

// A column definition in meta.k8s.io/v1 Table form:
// {"name","type","format","description","priority"}.
Json ColumnDefinitionJson(const TableColumn& column);

// Renders a table as kubectl does (text/tabwriter with minwidth 6, padding 3): upper-case
// headers, left-aligned columns as wide as their widest cell plus 3 spaces, the last column
// unpadded, one line per row ending in "\n". Priority-1 columns only when `wide`. When
// `namespaces` is given (one per row) a NAMESPACE column comes first; when `labels` is given
// (one per row, e.g. from FormatLabels) a LABELS column comes last. String cells are cut at
// the first newline ("..." appended); integers print as numbers. The header is printed even
// when there are no rows (kubectl instead prints "No resources found": the caller's job).
std::string RenderTable(const Table& table, bool wide, const std::vector<std::string>* namespaces,
                        const std::vector<std::string>* labels);

// kubectl's HumanDuration (k8s.io/apimachinery/pkg/util/duration): "45s", "119s", "2m",
// "5m3s", "95m", "5h3m", "40h", "3d5h", "200d", "3y50d", "8y"; "0s" for -1,
// "<invalid>" below -1.
std::string HumanDuration(int64_t seconds);

// The age of an RFC 3339 timestamp at `now_wall_nanos` (HumanDuration), or "<unknown>"
// when the timestamp is empty or malformed (translateTimestampSince).
std::string TimestampAge(std::string_view rfc3339, int64_t now_wall_nanos);

// labels.FormatLabels: "a=1,b=2" sorted by key, "<none>" when empty.
std::string FormatLabels(const std::map<std::string, std::string>& labels);

}  // namespace cattle
