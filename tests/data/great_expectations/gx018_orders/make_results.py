"""Validate orders.csv with GX 0.18 (fluent datasources) and save what a user would."""

import json

import great_expectations as gx

context = gx.get_context(project_root_dir=".")
source = context.sources.add_pandas_filesystem(name="shop_files", base_directory=".")
asset = source.add_csv_asset(name="orders", batching_regex=r"orders\.csv")
batch_request = asset.build_batch_request()
suite = context.add_expectation_suite(expectation_suite_name="orders_suite")
validator = context.get_validator(batch_request=batch_request, expectation_suite=suite)
validator.expect_column_values_to_not_be_null(column="order_id")
validator.expect_column_values_to_not_be_null(column="customer_id")
validator.expect_column_values_to_be_unique(column="order_id")
validator.expect_column_values_to_be_in_set(
    column="status", value_set=["placed", "shipped", "completed", "returned"]
)
validator.expect_column_values_to_be_between(column="amount", min_value=0)
validator.expect_table_row_count_to_be_between(min_value=1, max_value=1000)
validator.save_expectation_suite(discard_failed_expectations=False)
checkpoint = context.add_or_update_checkpoint(
    name="orders_checkpoint",
    validations=[{"batch_request": batch_request, "expectation_suite_name": "orders_suite"}],
)
result = checkpoint.run()
with open("checkpoint_result.json", "w") as handle:
    json.dump(result.to_json_dict(), handle, indent=2)
print(result.success)
