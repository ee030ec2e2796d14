"""Validate orders.csv with GX 1.x in a file data context and save what a user would."""

import great_expectations as gx
import great_expectations.expectations as gxe

context = gx.get_context(mode="file", project_root_dir=".")
source = context.data_sources.add_pandas_filesystem(name="shop_files", base_directory=".")
asset = source.add_csv_asset(name="orders")
batch_definition = asset.add_batch_definition_path(name="orders_csv", path="orders.csv")
suite = context.suites.add(gx.ExpectationSuite(name="orders_suite"))
suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(column="order_id"))
suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(column="customer_id"))
suite.add_expectation(gxe.ExpectColumnValuesToBeUnique(column="order_id"))
suite.add_expectation(
    gxe.ExpectColumnValuesToBeInSet(
        column="status", value_set=["placed", "shipped", "completed", "returned"]
    )
)
suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(column="amount", min_value=0))
suite.add_expectation(gxe.ExpectTableRowCountToBeBetween(min_value=1, max_value=1000))
suite.add_expectation(
    gxe.ExpectTableColumnsToMatchOrderedList(
        column_list=["order_id", "customer_id", "status", "amount"]
    )
)
validation = context.validation_definitions.add(
    gx.ValidationDefinition(data=batch_definition, suite=suite, name="orders_validation")
)
checkpoint = context.checkpoints.add(
    gx.Checkpoint(name="orders_checkpoint", validation_definitions=[validation])
)
result = checkpoint.run()  # also stores the result under gx/uncommitted/validations/
with open("checkpoint_describe.json", "w") as handle:
    handle.write(result.describe())
print(result.success)
