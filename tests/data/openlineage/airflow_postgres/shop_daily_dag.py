from datetime import datetime

from airflow import DAG
from airflow.operators.python import PythonOperator
from airflow.providers.common.sql.operators.sql import (
    SQLColumnCheckOperator,
    SQLExecuteQueryOperator,
)

with DAG("shop_daily", start_date=datetime(2026, 11, 1), schedule="@daily", catchup=False) as dag:
    load = SQLExecuteQueryOperator(
        task_id="load_orders",
        conn_id="shop_db",
        sql="""
        create table if not exists public.raw_orders (order_id integer, customer_id integer,
            status text, amount numeric);
        create table if not exists public.customers (customer_id integer, name text, email text);
        insert into public.raw_orders values (1, 1, 'completed', 10.0), (2, 2, 'lost', 5.0),
            (3, null, 'placed', 7.0);
        insert into public.customers values (1, 'Michael', 'm@example.com'), (2, 'Shawn', null);
        """,
        split_statements=True,
    )
    clean = SQLExecuteQueryOperator(
        task_id="clean_orders",
        conn_id="shop_db",
        sql="""
        drop table if exists public.orders;
        create table public.orders as
        select order_id, customer_id, upper(status) as status, amount
        from public.raw_orders where status <> 'lost'
        """,
        split_statements=True,
    )
    totals = SQLExecuteQueryOperator(
        task_id="customer_totals",
        conn_id="shop_db",
        sql="""
        drop table if exists public.customer_totals;
        create table public.customer_totals as
        select c.customer_id, c.name, sum(o.amount) as total_amount
        from public.orders o join public.customers c on o.customer_id = c.customer_id
        group by c.customer_id, c.name
        """,
        split_statements=True,
    )
    check = SQLColumnCheckOperator(
        task_id="check_orders",
        conn_id="shop_db",
        table="public.orders",
        column_mapping={"customer_id": {"null_check": {"equal_to": 0}}},
    )
    report = PythonOperator(task_id="report", python_callable=lambda: print("done"))
    load >> clean >> [totals, check]
    totals >> report
