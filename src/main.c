/* rampart entry point (filled in by the core engine work). */
int main(void)
{
    return 0;
}
